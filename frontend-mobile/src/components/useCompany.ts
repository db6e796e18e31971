/** A company's public profile (name, country, a supplier's trust signals), cached: thread
 * lists name the other side with it and product pages show the supplier's rating. */

import { useQuery } from '@tanstack/react-query';

import { api } from '../api';
import type { CompanyProfile } from '../api/types';

export function useCompany(id: string | null | undefined) {
  return useQuery({
    queryKey: ['company', id],
    queryFn: () => api.get<CompanyProfile>(`/companies/${id}`, { background: true }),
    enabled: !!id,
    staleTime: 5 * 60_000,
  });
}

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react-native';

import '../i18n';
import { ReviewForm } from './ReviewForm';

// The first render loads the API client and its stores: slow on a busy machine.
jest.setTimeout(30_000);

let client: QueryClient;

afterEach(() => client.clear());

function renderForm(reviewed: boolean) {
  client = new QueryClient({ defaultOptions: { queries: { gcTime: Infinity } } });
  return render(
    <QueryClientProvider client={client}>
      <ReviewForm orderId="order-1" supplierName="Nordbolt" reviewed={reviewed} />
    </QueryClientProvider>,
  );
}

it('offers the rating form for an order not yet reviewed', async () => {
  await renderForm(false);
  expect(screen.getByTestId('review-form')).toBeTruthy();
  expect(screen.getAllByRole('radio')).toHaveLength(5);
  expect(screen.queryByTestId('review-done')).toBeNull();
});

it('offers no second review once the order says it was reviewed', async () => {
  await renderForm(true);
  expect(screen.queryByTestId('review-form')).toBeNull();
  expect(screen.queryAllByRole('radio')).toHaveLength(0);
  expect(screen.getByTestId('review-done')).toHaveTextContent(/reviewed this order/);
});

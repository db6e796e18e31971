/** A buyer rates the supplier of a completed order once (1 to 5, optional comment). The
 * order says whether it was reviewed (`reviewed`, from any device or user): then no form
 * is offered. The review just sent from this device is shown with its stars and comment. */

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Pressable, Text, View } from 'react-native';

import { api } from '../api';
import type { Review } from '../api/types';
import { colors } from './theme';
import { Button, Card, Field, Heading, Notice, styles } from './ui';
import { useProblem } from './useProblem';

export const RATINGS = [1, 2, 3, 4, 5] as const;

export function ReviewForm({ orderId, supplierName, reviewed }: { orderId: string; supplierName: string; reviewed: boolean }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const key = ['review', orderId];
  const sent = useQuery<Review | null>({ queryKey: key, queryFn: () => null, staleTime: Infinity, enabled: false });
  const [rating, setRating] = useState<number | null>(null);
  const [comment, setComment] = useState('');
  const submit = useMutation({
    mutationFn: () => api.post<Review>(`/orders/${orderId}/review`, { rating, comment: comment.trim() }),
    onSuccess: (review) => {
      queryClient.setQueryData(key, review);
      void queryClient.invalidateQueries({ queryKey: ['order', orderId] });
      void queryClient.invalidateQueries({ queryKey: ['orders'] });
    },
  });
  const problem = useProblem(submit.error);
  const review = sent.data ?? null;
  if (review) {
    return (
      <Card testID="review-sent">
        <Heading level={2}>{t('reviews.title', { supplier: supplierName })}</Heading>
        <Text style={{ color: colors.text }} accessibilityLabel={t('reviews.stars', { count: review.rating })}>
          {'★'.repeat(review.rating)}{'☆'.repeat(5 - review.rating)}
        </Text>
        {review.comment ? <Text style={{ color: colors.text }}>{review.comment}</Text> : null}
        <Notice tone="success">{t('reviews.thanks')}</Notice>
      </Card>
    );
  }
  if (reviewed) {
    return (
      <Card testID="review-done">
        <Heading level={2}>{t('reviews.title', { supplier: supplierName })}</Heading>
        <Notice tone="success">{t('reviews.done')}</Notice>
      </Card>
    );
  }
  return (
    <Card testID="review-form">
      <Heading level={2}>{t('reviews.title', { supplier: supplierName })}</Heading>
      <Text style={{ color: colors.text }} nativeID="rating-label">{t('reviews.rating')}</Text>
      <View role="radiogroup" aria-labelledby="rating-label" style={styles.row}>
        {RATINGS.map((value) => {
          const checked = rating !== null && value <= rating;
          return (
            <Pressable
              key={value}
              accessibilityRole="radio"
              aria-checked={rating === value}
              accessibilityLabel={t('reviews.stars', { count: value })}
              onPress={() => setRating(value)}
              testID={`rating-${value}`}
              style={{ minWidth: 44, minHeight: 44, alignItems: 'center', justifyContent: 'center' }}
            >
              <Text style={{ fontSize: 30, color: checked ? colors.warning : colors.muted }}>{checked ? '★' : '☆'}</Text>
            </Pressable>
          );
        })}
      </View>
      {problem.fields.rating ? <Text style={styles.error} accessibilityRole="alert">{problem.fields.rating}</Text> : null}
      <Field label={t('reviews.comment')} value={comment} onChangeText={setComment} multiline numberOfLines={3} error={problem.fields.comment} testID="review-comment" />
      <Button label={t('reviews.submit')} onPress={() => submit.mutate()} disabled={rating === null} busy={submit.isPending} testID="submit-review" />
      {problem.message && !problem.fields.rating && !problem.fields.comment ? <Notice tone="error">{problem.message}</Notice> : null}
    </Card>
  );
}

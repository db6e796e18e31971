import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getDocumentAsync } from 'expo-document-picker';
import { Link, useLocalSearchParams } from 'expo-router';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Pressable, ScrollView, Text, View } from 'react-native';

import { api } from '../../src/api';
import type { Attachment, Message, OrderDetail, Page, Thread } from '../../src/api/types';
import { downloadFile } from '../../src/components/download';
import { addFiles, canSend, chronological, formatBytes, messageBody, type PickedFile } from '../../src/components/messages';
import { OfflineNotice } from '../../src/components/OfflineNotice';
import { colors, spacing } from '../../src/components/theme';
import { Button, Card, Field, Heading, Notice, Skeleton, styles } from '../../src/components/ui';
import { useCompany } from '../../src/components/useCompany';
import { useProblem } from '../../src/components/useProblem';
import { formatDateTime, localeOf } from '../../src/i18n/format';
import { useSession } from '../../src/stores/session';

function AttachmentLink({ attachment }: { attachment: Attachment }) {
  const { t, i18n } = useTranslation();
  const [error, setError] = useState<unknown>(null);
  const problem = useProblem(error);
  const label = `${attachment.filename} (${formatBytes(attachment.size, localeOf(i18n.language))})`;
  return (
    <View>
      <Pressable
        accessibilityRole="link"
        accessibilityLabel={t('messages.download', { name: label })}
        onPress={() => {
          setError(null);
          downloadFile(attachment.url, attachment.filename).catch(setError);
        }}
        testID="attachment"
      >
        <Text style={{ color: colors.primary, textDecorationLine: 'underline', paddingVertical: spacing.xs }}>{label}</Text>
      </Pressable>
      {problem.message ? <Text style={styles.error} accessibilityRole="alert">{problem.message}</Text> : null}
    </View>
  );
}

function Bubble({ message, mine, authorName }: { message: Message; mine: boolean; authorName: string }) {
  const { i18n } = useTranslation();
  return (
    <View
      testID="message"
      style={{
        alignSelf: mine ? 'flex-end' : 'flex-start',
        maxWidth: '85%',
        backgroundColor: mine ? '#e6f0fa' : colors.surface,
        borderWidth: 1,
        borderColor: colors.border,
        borderRadius: 10,
        padding: spacing.md,
        gap: spacing.xs,
      }}
    >
      <Text style={{ color: colors.muted, fontSize: 13 }}>
        {authorName} · {formatDateTime(message.created_at, i18n.language)}
      </Text>
      {message.body ? <Text style={{ color: colors.text, fontSize: 16 }} testID="message-body">{message.body}</Text> : null}
      {message.attachments.map((attachment) => (
        <AttachmentLink key={attachment.id} attachment={attachment} />
      ))}
    </View>
  );
}

export default function ThreadScreen() {
  const { id } = useLocalSearchParams<{ id: string }>();
  const { t, i18n } = useTranslation();
  const session = useSession();
  const queryClient = useQueryClient();
  const signedIn = session.status === 'signed-in';
  const thread = useQuery({ queryKey: ['thread', id], queryFn: () => api.get<Thread>(`/threads/${id}`), enabled: signedIn });
  const messages = useInfiniteQuery({
    queryKey: ['thread', id, 'messages'],
    queryFn: ({ pageParam }) => api.get<Page<Message>>(`/threads/${id}/messages`, { query: { limit: 30, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: signedIn,
  });
  const otherId = thread.data ? (thread.data.buyer_id === session.companyId ? thread.data.supplier_id : thread.data.buyer_id) : null;
  const other = useCompany(otherId);
  const orderId = thread.data?.subject_type === 'order' ? thread.data.subject_id : null;
  // The same cached read as the order screen, for the order's number.
  const order = useQuery({ queryKey: ['order', orderId], queryFn: () => api.get<OrderDetail>(`/orders/${orderId}`, { background: true }), enabled: !!orderId });
  const [text, setText] = useState('');
  const [files, setFiles] = useState<PickedFile[]>([]);
  const [dropped, setDropped] = useState(0);
  const list = chronological(messages.data?.pages ?? []);
  const newest = list[list.length - 1]?.id;

  useEffect(() => {
    // Read up to the newest message whenever one arrives while the thread is open.
    if (!newest || !signedIn) return;
    api
      .post(`/threads/${id}/read`, undefined, { background: true })
      .then(() => queryClient.invalidateQueries({ queryKey: ['threads'] }))
      .catch(() => undefined);
  }, [newest, id, signedIn, queryClient]);

  const send = useMutation({
    mutationFn: () => api.request<Message>('POST', `/threads/${id}/messages`, messageBody(text.trim(), files)),
    onSuccess: (message) => {
      setText('');
      setFiles([]);
      setDropped(0);
      queryClient.setQueryData<{ pages: Page<Message>[]; pageParams: unknown[] }>(['thread', id, 'messages'], (data) =>
        data ? { ...data, pages: [{ ...data.pages[0], items: [message, ...data.pages[0].items] }, ...data.pages.slice(1)] } : data,
      );
      void queryClient.invalidateQueries({ queryKey: ['threads'] });
    },
  });
  const problem = useProblem(send.error);
  const fileError = Object.entries(problem.fields).find(([loc]) => loc.startsWith('files'))?.[1] ?? null;
  const textError = problem.fields.body ?? null;

  const pick = async (): Promise<void> => {
    const result = await getDocumentAsync({ multiple: true, base64: false, copyToCacheDirectory: true });
    if (result.canceled) return;
    const picked: PickedFile[] = result.assets.map((asset) => ({
      name: asset.name,
      size: asset.size ?? null,
      mimeType: asset.mimeType ?? null,
      uri: asset.uri,
      file: asset.file,
    }));
    const next = addFiles(files, picked);
    setFiles(next.files);
    setDropped(next.dropped);
  };

  if (!signedIn) return <View style={{ padding: spacing.lg }}><Skeleton lines={4} /></View>;
  const subject = thread.data;
  const subjectHref = subject?.subject_type === 'order' ? `/orders/${subject.subject_id}` : subject?.subject_type === 'rfq' ? `/rfqs/${subject.subject_id}` : null;
  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, gap: spacing.md }}>
      <Heading>{other.data?.name ?? t('messages.title')}</Heading>
      {subject ? (
        <View style={styles.row}>
          <Text style={{ color: colors.text }}>{t(`messages.subject.${subject.subject_type}`)}</Text>
          {subjectHref ? (
            <Link href={subjectHref as never} style={{ color: colors.primary, fontWeight: '600' }}>
              {order.data ? t('orders.number', { number: order.data.number }) : t('messages.openSubject')}
            </Link>
          ) : null}
        </View>
      ) : null}
      <OfflineNotice error={messages.error} updatedAt={messages.dataUpdatedAt} hasData={!!messages.data} />
      {messages.hasNextPage ? (
        <Button variant="secondary" label={t('messages.earlier')} onPress={() => void messages.fetchNextPage()} busy={messages.isFetchingNextPage} />
      ) : null}
      {messages.isPending ? <Skeleton lines={4} /> : null}
      {messages.isSuccess && list.length === 0 ? <Text style={styles.muted}>{t('messages.noMessages')}</Text> : null}
      <View role="list" style={{ gap: spacing.sm }} testID="messages">
        {list.map((message) => {
          const mine = message.author_company_id === session.companyId;
          return (
            <View key={message.id} role="listitem">
              <Bubble message={message} mine={mine} authorName={mine ? t('messages.you') : other.data?.name ?? t('messages.otherCompany')} />
            </View>
          );
        })}
      </View>
      {subject?.other_side_last_read_at && newest && list[list.length - 1].author_company_id === session.companyId && Date.parse(subject.other_side_last_read_at) >= Date.parse(list[list.length - 1].created_at) ? (
        <Text style={[styles.muted, { alignSelf: 'flex-end' }]}>{t('messages.seen', { at: formatDateTime(subject.other_side_last_read_at, i18n.language) })}</Text>
      ) : null}
      <Card>
        <Field
          label={t('messages.placeholder')}
          value={text}
          onChangeText={setText}
          multiline
          numberOfLines={3}
          error={textError}
          testID="message-text"
        />
        {files.length ? (
          <View role="list" style={{ gap: spacing.xs }}>
            {files.map((file) => (
              <View key={file.uri} role="listitem" style={styles.row} testID="picked-file">
                <Text style={{ color: colors.text }}>{file.name}{file.size !== null ? ` (${formatBytes(file.size, localeOf(i18n.language))})` : ''}</Text>
                <Button variant="secondary" label={t('messages.removeFile', { name: file.name })} onPress={() => setFiles(files.filter((f) => f.uri !== file.uri))} />
              </View>
            ))}
          </View>
        ) : null}
        {fileError ? <Text style={styles.error} accessibilityRole="alert">{fileError}</Text> : null}
        {dropped ? <Notice>{t('messages.tooManyFiles', { count: 5 })}</Notice> : null}
        <View style={styles.row}>
          <Button variant="secondary" label={t('messages.attach')} onPress={() => void pick()} testID="attach" />
          <Button label={t('messages.send')} onPress={() => send.mutate()} disabled={!canSend(text, files)} busy={send.isPending} testID="send-message" />
        </View>
        {problem.message && !fileError && !textError ? <Notice tone="error">{problem.message}</Notice> : null}
      </Card>
    </ScrollView>
  );
}

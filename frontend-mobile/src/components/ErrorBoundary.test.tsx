import { act, fireEvent, render, screen } from '@testing-library/react-native';
import { Text } from 'react-native';

import { AUTO_RETRY_MS, ErrorBoundary, MAX_AUTO_RETRIES } from './ErrorBoundary';
import { setErrorReporter } from './reportError';

// React renders a failed tree once more before it reaches a boundary, so the fault is a
// state of the world (like an API shape the screen cannot read), not a count of renders.
let broken = false;

function Fragile() {
  if (broken) throw new Error('render failed');
  return <Text>content</Text>;
}

beforeEach(() => {
  jest.useFakeTimers();
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.useRealTimers();
  setErrorReporter(null);
  broken = false;
});

it('recovers by itself once the fault is gone', async () => {
  broken = true;
  await render(<ErrorBoundary><Fragile /></ErrorBoundary>);
  expect(screen.getByTestId('error-boundary')).toBeTruthy();
  broken = false;
  await act(async () => jest.advanceTimersByTime(AUTO_RETRY_MS));
  expect(screen.getByText('content')).toBeTruthy();
});

it('stops retrying by itself after a few tries, and the button still works', async () => {
  broken = true;
  await render(<ErrorBoundary><Fragile /></ErrorBoundary>);
  for (let i = 0; i < MAX_AUTO_RETRIES + 2; i += 1) await act(async () => jest.advanceTimersByTime(AUTO_RETRY_MS));
  expect(screen.getByTestId('error-boundary')).toBeTruthy();
  expect(screen.queryByText(/automatically/i)).toBeNull();
  broken = false;
  await fireEvent.press(screen.getByRole('button'));
  expect(screen.getByText('content')).toBeTruthy();
});

it('starts afresh when the route changes', async () => {
  broken = true;
  const { rerender } = await render(<ErrorBoundary resetKey="/a"><Fragile /></ErrorBoundary>);
  for (let i = 0; i < MAX_AUTO_RETRIES; i += 1) await act(async () => jest.advanceTimersByTime(AUTO_RETRY_MS));
  broken = false;
  await rerender(<ErrorBoundary resetKey="/b"><Fragile /></ErrorBoundary>);
  expect(screen.getByText('content')).toBeTruthy();
});

it('reports each caught error', async () => {
  const reported: string[] = [];
  setErrorReporter((error) => reported.push(error.message));
  broken = true;
  await render(<ErrorBoundary><Fragile /></ErrorBoundary>);
  expect(reported).toContain('render failed');
});

import { fireEvent, render, screen } from '@testing-library/react-native';
import { useState } from 'react';

import { Checkbox, Choice } from './RfqParts';

function Terms({ onChange }: { onChange: (value: string) => void }) {
  const [value, setValue] = useState<'net_30' | 'net_60'>('net_30');
  return (
    <Choice
      label="Payment terms"
      options={[
        { value: 'net_30', label: 'Net 30 days' },
        { value: 'net_60', label: 'Net 60 days' },
      ]}
      value={value}
      onChange={(next) => {
        setValue(next);
        onChange(next);
      }}
      error="Pick one the supplier offers"
    />
  );
}

it('is a group of radios that says which one is chosen, with its error as an alert', async () => {
  const onChange = jest.fn();
  await render(<Terms onChange={onChange} />);
  expect(screen.getByRole('radio', { name: 'Net 30 days' }).props.accessibilityState).toMatchObject({ checked: true });
  expect(screen.getByRole('radio', { name: 'Net 60 days' }).props.accessibilityState).toMatchObject({ checked: false });
  await fireEvent.press(screen.getByRole('radio', { name: 'Net 60 days' }));
  expect(onChange).toHaveBeenCalledWith('net_60');
  expect(screen.getByRole('radio', { name: 'Net 60 days' }).props.accessibilityState).toMatchObject({ checked: true });
  expect(screen.getByRole('radio', { name: 'Net 30 days' }).props.accessibilityState).toMatchObject({ checked: false });
  expect(screen.getByRole('alert')).toHaveTextContent('Pick one the supplier offers');
});

it('names a supplier checkbox with its country and reports presses', async () => {
  const onPress = jest.fn();
  await render(<Checkbox label="Thames Components" detail="GB" checked={false} onPress={onPress} />);
  const box = screen.getByRole('checkbox', { name: 'Thames Components, GB' });
  expect(box.props.accessibilityState).toMatchObject({ checked: false });
  await fireEvent.press(box);
  expect(onPress).toHaveBeenCalledTimes(1);
});

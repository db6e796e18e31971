/** Colours chosen for WCAG AA contrast on white (4.5:1 or more for text). */
export const colors = {
  text: '#1a1f24',
  muted: '#4a5560',
  border: '#c9d1d9',
  background: '#f5f7f9',
  surface: '#ffffff',
  primary: '#0b5cad',
  primaryText: '#ffffff',
  danger: '#b3261e',
  warning: '#7a4b00',
  warningBackground: '#fff4d6',
  success: '#1e6b34',
  successBackground: '#e3f4e8',
};

export const spacing = { xs: 4, sm: 8, md: 12, lg: 16, xl: 24 };

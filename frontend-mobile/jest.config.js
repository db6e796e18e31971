/** Three kinds of test project:
 * - node: the API client and pure modules against a real local HTTP server (no React Native);
 * - ios and android: components and stores under the native presets, so the SecureStore path runs;
 * - web: stores under react-native-web, where the cookie session is used. */
const shared = {
  transformIgnorePatterns: [
    'node_modules/(?!((jest-)?react-native|@react-native(-community)?|expo(nent)?|@expo(nent)?/.*|@expo-google-fonts/.*|react-navigation|@react-navigation/.*|react-native-svg|i18next|react-i18next|zustand|@tanstack/.*|@sentry/.*))',
  ],
};

module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'node',
      testEnvironment: 'node',
      transform: { '\\.[jt]sx?$': ['babel-jest', { presets: ['babel-preset-expo'] }] },
      testMatch: ['<rootDir>/src/**/*.node.test.ts'],
    },
    ...['ios', 'android', 'web'].map((platform) => ({
      ...shared,
      displayName: platform,
      preset: `jest-expo/${platform}`,
      // Testing Library renders native components; on the web only stores and logic run.
      testMatch: platform === 'web' ? ['<rootDir>/src/**/*.test.ts'] : ['<rootDir>/src/**/*.test.ts?(x)'],
      // *.native.test.ts: phone-only modules (download.native.ts), not built for the web.
      testPathIgnorePatterns: platform === 'web' ? ['\\.node\\.test\\.ts$', '\\.native\\.test\\.ts$'] : ['\\.node\\.test\\.ts$'],
      setupFiles: ['<rootDir>/jest.setup.js'],
    })),
  ],
};

/* AsyncStorage's own in-memory implementation for tests (shipped by the package for this). */
jest.mock('@react-native-async-storage/async-storage', () =>
  require('@react-native-async-storage/async-storage/jest/async-storage-mock'),
);

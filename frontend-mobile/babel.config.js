/** Under jest (NODE_ENV=test) `import()` becomes a `require` on the next tick, as
 * babel-plugin-dynamic-import-node does: jest runs CommonJS and cannot load a module
 * asynchronously without --experimental-vm-modules. Metro keeps `import()` for its own
 * code splitting (a separate chunk on the web). */
function dynamicImportAsRequire({ types: t }) {
  return {
    visitor: {
      CallExpression(path) {
        if (path.node.callee.type !== 'Import') return;
        const resolved = t.callExpression(t.memberExpression(t.identifier('Promise'), t.identifier('resolve')), []);
        const load = t.arrowFunctionExpression([], t.callExpression(t.identifier('require'), path.node.arguments));
        path.replaceWith(t.callExpression(t.memberExpression(resolved, t.identifier('then')), [load]));
      },
    },
  };
}

module.exports = function (api) {
  const test = api.env('test');
  api.cache.using(() => process.env.NODE_ENV);
  return { presets: ['babel-preset-expo'], plugins: test ? [dynamicImportAsRequire] : [] };
};

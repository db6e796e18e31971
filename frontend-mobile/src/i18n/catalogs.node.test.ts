import de from './locales/de.json';
import en from './locales/en.json';
import es from './locales/es.json';
import fr from './locales/fr.json';

type Tree = { [key: string]: string | Tree };

function keys(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'string' ? [`${prefix}${key}`] : keys(value, `${prefix}${key}.`),
  );
}

function placeholders(text: string): string[] {
  return [...text.matchAll(/{{\s*(\w+)\s*}}/g)].map((m) => m[1]).sort();
}

function lookup(tree: Tree, path: string): string {
  return path.split('.').reduce<string | Tree>((node, part) => (node as Tree)[part], tree) as string;
}

const catalogs = { de, fr, es } as Record<string, Tree>;

describe('the translation catalogs', () => {
  const english = keys(en as Tree).sort();

  it.each(Object.keys(catalogs))('%s has every English key and no other', (language) => {
    expect(keys(catalogs[language]).sort()).toEqual(english);
  });

  it.each(Object.keys(catalogs))('%s keeps every placeholder of each English text', (language) => {
    for (const key of english) {
      expect([key, placeholders(lookup(catalogs[language], key))]).toEqual([key, placeholders(lookup(en as Tree, key))]);
    }
  });

  it.each(Object.keys(catalogs))('%s has no empty or untranslated-looking text', (language) => {
    for (const key of english) expect([key, lookup(catalogs[language], key).trim().length > 0]).toEqual([key, true]);
  });

  it('has an entry for every order status the API knows', () => {
    for (const status of ['pending_approval', 'placed', 'confirmed', 'shipped', 'delivered', 'completed', 'cancelled', 'rejected']) {
      expect(english).toContain(`status.${status}`);
    }
  });
});

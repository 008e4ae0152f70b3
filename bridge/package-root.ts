/** Where the installed package is, so built files (dist/…) and package.json are found from src or dist alike. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The package root (the nearest folder above this file with a package.json), from src or dist. */
export function packageRoot(): string {
  if (root === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'package.json'))) {
      const parent = dirname(dir);
      if (parent === dir) throw new Error('pagecall: cannot find the package root');
      dir = parent;
    }
    root = dir;
  }
  return root;
}

/** The package's version from its package.json (`0.0.0` when it cannot be read). */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

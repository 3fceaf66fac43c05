/**
 * The package as npm publishes it: `npm pack` of the working tree. The Node-RED 5 smoke
 * check installs the tarball into a user directory, the scorecard validates it unpacked,
 * so both see exactly the files package.json's "files" ships, not the working tree.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './node-red-userdir';

/**
 * Packs the working tree into `dir` and returns the tarball's path. The scripts that call
 * this run from dist/ under an npm script that built it first, so the pack skips prepack's
 * second build.
 */
export function packPackage(dir: string): string {
  if (!existsSync(join(packageRoot, 'dist', 'nodes'))) throw new Error('dist/ is not built: run npm run build first');
  mkdirSync(dir, { recursive: true });
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--loglevel=error', '--pack-destination', dir], { cwd: packageRoot, encoding: 'utf8' });
  const [{ filename }] = JSON.parse(out) as { filename: string }[];
  return join(dir, filename);
}

/** Unpacks the tarball into `dir`/package (emptied first), as npm unpacks it on install; returns that folder. */
export function unpackPackage(tarball: string, dir: string): string {
  const target = join(dir, 'package');
  rmSync(target, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  return target;
}

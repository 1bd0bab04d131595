/**
 * A corpus of real text, assembled at test time from the Markdown files (READMEs, changelogs,
 * licences) that ship at the top of each package in node_modules. The same lockfile gives the
 * same corpus: packages and files are read in sorted order.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest node_modules above this file (the benchmarks run a compiled copy of it). */
function nodeModules(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules'))) return join(dir, 'node_modules');
    if (dirname(dir) === dir) throw new Error('no node_modules above the corpus module');
  }
}

const NODE_MODULES = nodeModules();

/** One Markdown file: its path under node_modules and its text. */
export interface CorpusFile {
  readonly path: string;
  readonly text: string;
}

let cached: readonly CorpusFile[] | undefined;

/** Every `*.md` file at the top of every installed package, in sorted order. */
export function markdownFiles(): readonly CorpusFile[] {
  if (cached !== undefined) return cached;
  const files: CorpusFile[] = [];
  for (const entry of readdirSync(NODE_MODULES).sort()) {
    if (entry.startsWith('.')) continue;
    const packages = entry.startsWith('@')
      ? readdirSync(join(NODE_MODULES, entry))
          .sort()
          .map((name) => `${entry}/${name}`)
      : [entry];
    for (const name of packages) {
      const dir = join(NODE_MODULES, name);
      if (!statSync(dir).isDirectory()) continue;
      for (const file of readdirSync(dir).sort()) {
        if (!/\.md$/i.test(file) || !statSync(join(dir, file)).isFile()) continue;
        files.push({ path: `${name}/${file}`, text: readFileSync(join(dir, file), 'utf8') });
      }
    }
  }
  cached = files;
  return files;
}

/** One passage: a section of a file, cut before each Markdown heading, nothing else changed. */
export interface Passage {
  readonly source: string;
  readonly text: string;
}

/**
 * The files cut into passages before each heading line. Every character of every file is in
 * exactly one passage (runs of blank lines, tabs, emoji and all), so the passages keep the
 * whitespace patterns that matter to a BPE pre-tokenizer.
 */
export function passages(): Passage[] {
  return markdownFiles().flatMap(({ path, text }) =>
    text
      .split(/(?=\n#{1,6} )/)
      .filter((part) => part.length > 0)
      .map((part, i) => ({ source: `${path}#${i}`, text: part })),
  );
}

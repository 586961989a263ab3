/**
 * The code blocks of the documentation, as a reader sees them: every fenced block of a checked
 * language, with the line it starts on and the file it says it is (a first-line comment such as
 * `// src/lib/server/replay.ts` or `<!-- src/routes/+page.svelte -->`), and the SvelteKit major
 * it is written for when the line before its fence says so (`<!-- kit 2 -->`, `<!-- kit 3 -->`).
 */

/** Fence languages that are type-checked, and the file extension each is checked as. */
export const CHECKED_LANGUAGES: Readonly<Record<string, 'ts' | 'js' | 'svelte'>> = {
  ts: 'ts',
  typescript: 'ts',
  js: 'js',
  javascript: 'js',
  svelte: 'svelte',
};

/** The comment on the line before a fence that exempts a block (pseudo-code). Keep these rare. */
export const NOT_CHECKED = /^<!--\s*not-checked\b.*-->$/;

/** The comment on the line before a fence that ties a block to one SvelteKit major. */
export const KIT_ONLY = /^<!--\s*kit\s+([23])\s*-->$/;

export interface CodeBlock {
  /** The markdown file, relative to the repository root (`docs/sveltekit.md`). */
  readonly doc: string;
  /** 1-based line of the block's first code line in `doc`. */
  readonly line: number;
  readonly lang: 'ts' | 'js' | 'svelte';
  /** The block's text, de-indented, ending with a newline. */
  readonly code: string;
  /** The app file the block names in its first line, when it names one (`src/hooks.ws.ts`). */
  readonly file: string | undefined;
  /** The SvelteKit major the block is for, when it is for only one (`<!-- kit 3 -->`). */
  readonly kit: 2 | 3 | undefined;
}

export interface ExtractedDoc {
  readonly checked: CodeBlock[];
  /** Blocks of a checked language exempted with `<!-- not-checked -->`, as `doc:line`. */
  readonly exempt: string[];
}

const FENCE = /^( *)(`{3,}|~{3,})\s*([^`\s]*)/;
const NAMED_FILE = /^(?:\/\/|<!--)\s*(\S+?)[:,]?(?:\s|$)/;
const APP_FILE = /^(?:src\/[^\s]+|[\w.-]+)\.(ts|js|mjs|svelte)$/;

/** The app file a block's first line names, if it names one. */
export function namedFile(firstLine: string): string | undefined {
  const token = NAMED_FILE.exec(firstLine.trim())?.[1];
  return token !== undefined && APP_FILE.test(token) ? token : undefined;
}

export function extractBlocks(doc: string, markdown: string): ExtractedDoc {
  const lines = markdown.split('\n');
  const checked: CodeBlock[] = [];
  const exempt: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = lines[j]!.trimStart();
      if (close.startsWith(fence[0]!.repeat(fence.length)) && close.replace(/[`~]/g, '').trim() === '') break;
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!.trimStart());
    }
    const lang = CHECKED_LANGUAGES[info.toLowerCase()];
    if (lang !== undefined) {
      let k = i - 1;
      while (k >= 0 && lines[k]!.trim() === '') k--;
      const before = k >= 0 ? lines[k]!.trim() : '';
      const kit = KIT_ONLY.exec(before)?.[1];
      if (NOT_CHECKED.test(before)) exempt.push(`${doc}:${i + 2}`);
      else checked.push({ doc, line: i + 2, lang, code: body.join('\n') + '\n', file: namedFile(body[0] ?? ''), kit: kit === undefined ? undefined : kit === '2' ? 2 : 3 });
    }
    i = j;
  }
  return { checked, exempt };
}

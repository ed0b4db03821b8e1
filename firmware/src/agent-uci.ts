// UCI configuration files (OpenWrt /etc/config/*): a parser for the file
// format and a line-preserving editor for single options. Pure.
//
//   config <type> ['<name>']
//           option <name> '<value>'
//           list <name> '<value>'
//
// Words are unquoted, 'single quoted' (no escapes) or "double quoted"
// (backslash escapes); adjacent pieces join, so 'it'\''s' is "it's". A word
// starting with # begins a comment. `package` lines are accepted and ignored.

export interface UciSection {
  readonly type: string;
  /** Section name; anonymous sections get "@type[index]". */
  readonly name: string;
  readonly anonymous: boolean;
  readonly options: Record<string, string>;
  readonly lists: Record<string, string[]>;
  /** 1-based line of the `config` line. */
  readonly line: number;
}

export class UciError extends Error {
  constructor(
    readonly file: string,
    readonly lineNo: number,
    message: string,
  ) {
    super(`${file}:${lineNo}: ${message}`);
    this.name = 'UciError';
  }
}

const NAME_RE = /^[A-Za-z0-9_]+$/;

export function tokenize(line: string, file = 'uci', lineNo = 0): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') break;
    let word = '';
    while (i < line.length && !/[ \t\r]/.test(line[i]!)) {
      const ch = line[i]!;
      if (ch === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new UciError(file, lineNo, 'unterminated single quote');
        word += line.slice(i + 1, end);
        i = end + 1;
      } else if (ch === '"') {
        i++;
        let closed = false;
        while (i < line.length) {
          const d = line[i]!;
          if (d === '\\' && i + 1 < line.length) {
            word += line[i + 1]!;
            i += 2;
          } else if (d === '"') {
            i++;
            closed = true;
            break;
          } else {
            word += d;
            i++;
          }
        }
        if (!closed) throw new UciError(file, lineNo, 'unterminated double quote');
      } else if (ch === '\\' && i + 1 < line.length) {
        word += line[i + 1]!;
        i += 2;
      } else {
        word += ch;
        i++;
      }
    }
    out.push(word);
  }
  return out;
}

export function parseUci(text: string, file = 'uci'): UciSection[] {
  const sections: UciSection[] = [];
  const counts: Record<string, number> = {};
  let cur: UciSection | null = null;
  text.split('\n').forEach((raw, idx) => {
    const lineNo = idx + 1;
    const w = tokenize(raw, file, lineNo);
    if (w.length === 0) return;
    const [kw, a, b, ...extra] = w;
    if (extra.length > 0) throw new UciError(file, lineNo, `too many words after '${kw}'`);
    switch (kw) {
      case 'package':
        return;
      case 'config': {
        if (!a || !NAME_RE.test(a)) throw new UciError(file, lineNo, 'config needs a section type');
        if (b !== undefined && !NAME_RE.test(b)) throw new UciError(file, lineNo, `invalid section name '${b}'`);
        const index = counts[a] ?? 0;
        counts[a] = index + 1;
        const existing = b !== undefined ? sections.find((s) => s.name === b) : undefined;
        if (existing) {
          cur = existing; // UCI merges repeated named sections
          return;
        }
        cur = { type: a, name: b ?? `@${a}[${index}]`, anonymous: b === undefined, options: {}, lists: {}, line: lineNo };
        sections.push(cur);
        return;
      }
      case 'option':
      case 'list': {
        if (!cur) throw new UciError(file, lineNo, `'${kw}' outside a config section`);
        if (!a || !NAME_RE.test(a)) throw new UciError(file, lineNo, `invalid ${kw} name`);
        if (b === undefined) throw new UciError(file, lineNo, `${kw} '${a}' has no value`);
        const s: UciSection = cur;
        if (kw === 'option') s.options[a] = b;
        else (s.lists[a] ??= []).push(b);
        return;
      }
      default:
        throw new UciError(file, lineNo, `unknown keyword '${kw}'`);
    }
  });
  return sections;
}

export function quoteUci(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Sets `option name 'value'` in the section `sectionName` (or the first
 * section of `type` when the name is "@type[0]"), keeping every other line,
 * comment and indentation. Returns the new text; throws if the section is
 * missing.
 */
export function setUciOption(text: string, section: string, option: string, value: string, file = 'uci'): string {
  if (!NAME_RE.test(option)) throw new UciError(file, 0, `invalid option name '${option}'`);
  const sections = parseUci(text, file);
  const target = sections.find((s) => s.name === section);
  if (!target) throw new UciError(file, 0, `no section '${section}'`);
  const lines = text.split('\n');
  let end = lines.length;
  for (let i = target.line; i < lines.length; i++) {
    const w = tokenize(lines[i]!, file, i + 1);
    if (w[0] === 'config' || w[0] === 'package') {
      end = i;
      break;
    }
  }
  const entry = `\toption ${option} ${quoteUci(value)}`;
  for (let i = target.line; i < end; i++) {
    const w = tokenize(lines[i]!, file, i + 1);
    if (w[0] === 'option' && w[1] === option) {
      const indent = /^\s*/.exec(lines[i]!)![0];
      lines[i] = `${indent}option ${option} ${quoteUci(value)}`;
      return lines.join('\n');
    }
  }
  lines.splice(target.line, 0, entry);
  return lines.join('\n');
}

// What `gatehouse COMMAND --help` prints, and the one-line usage of a wrong call, from one
// description per sub-command (kept beside the command it describes).
import { ConfigError } from '../config.js';

export interface CommandHelp {
  /** One form per line, each starting with `gatehouse `. */
  usage: readonly string[];
  /** What the command is for, and what a script should know (a paragraph). */
  about: string;
  /** [flag as written, meaning]; `--data-dir` is added for commands on the store. */
  options: readonly (readonly [string, string])[];
  /** Whether the command works on the data directory (and so takes --data-dir). */
  store: boolean;
}

export const DATA_DIR_OPTION = ['--data-dir DIR', 'the data directory (GATEHOUSE_DATA_DIR, default ./data)'] as const;
/** The --json line of a list command's help, naming the fields of its objects (the README lists them too). */
export function jsonOption(listCommand: string, fields: readonly string[]): readonly [string, string] {
  return ['--json', `${listCommand}: print a JSON array of objects with the fields ${fields.join(', ')}`];
}

export function renderHelp(help: CommandHelp): string {
  const [first, ...more] = help.usage;
  const options = [...help.options, ...(help.store ? [DATA_DIR_OPTION] : [])];
  const width = Math.max(...options.map(([flag]) => flag.length)) + 2;
  return [
    `usage: ${first}`,
    ...more.map((u) => `       ${u}`),
    '',
    help.about,
    ...(options.length > 0 ? ['', 'Options:', ...options.map(([flag, meaning]) => `  ${flag.padEnd(width)}${meaning}`)] : []),
    '',
  ].join('\n');
}

/** The one line a wrong call gets: every form, and where the rest is. */
export function usageError(command: string, help: CommandHelp): ConfigError {
  const forms = help.usage.map((u, i) => (i === 0 ? u : u.replace(/^gatehouse /, '')));
  return new ConfigError(`usage: ${forms.join(' | ')}   (gatehouse ${command} --help)`);
}

/** Whether args ask for help: `--help` or `-h` before a `--` that ends the options. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

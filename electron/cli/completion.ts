// `mooring completion bash|zsh|fish`: a completion script for the shell, written from the command tree
// itself (commands, subcommands and their options), so that it never lists a command that is gone.
// Stack and source names are not completed: that would mean reading git at every Tab.
import type { Command } from 'commander';
import { MooringError } from '../engine/errors.ts';
import type { Io } from './io.ts';

interface Node {
  /** "sync", or "source add" for a subcommand. */
  path: string;
  options: string[];
  children: string[];
}

function walk(cmd: Command, prefix: string[], out: Node[]): void {
  for (const c of cmd.commands) {
    const path = [...prefix, c.name()];
    out.push({
      path: path.join(' '),
      options: [...c.options.map((o) => o.long ?? o.short ?? ''), '--help'].filter(Boolean),
      children: c.commands.map((x) => x.name()),
    });
    walk(c, path, out);
  }
}

const SHELLS = ['bash', 'zsh', 'fish'] as const;

export function completionScript(program: Command, shell: string): string {
  const nodes: Node[] = [];
  walk(program, [], nodes);
  const top = [...program.commands.map((c) => c.name()), '--home', '--engine', '--help'];
  switch (shell) {
    case 'bash':
    case 'zsh': {
      // One function for both: zsh runs it through bashcompinit.
      const cases = nodes
        .map((n) => `    "${n.path}") words_="${[...n.children, ...n.options].join(' ')}" ;;`)
        .join('\n');
      return `${shell === 'zsh' ? 'autoload -U +X bashcompinit && bashcompinit\n' : ''}_mooring() {
  local cur path_ words_ i w
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path_=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --home) ((i++)) ;;
      -*) ;;
      *) if [ -z "$path_" ]; then path_="$w"; else path_="$path_ $w"; fi ;;
    esac
  done
  case "$path_" in
    "") words_="${top.join(' ')}" ;;
${cases}
    *) words_="" ;;
  esac
  COMPREPLY=($(compgen -W "$words_" -- "$cur"))
}
complete -o default -F _mooring mooring
`;
    }
    case 'fish': {
      const lines = [
        'complete -c mooring -f',
        `complete -c mooring -n __fish_use_subcommand -l home -r -d 'data folder'`,
      ];
      for (const c of program.commands) {
        lines.push(
          `complete -c mooring -n __fish_use_subcommand -a ${c.name()} -d ${quoteFish(c.description())}`,
        );
      }
      for (const n of nodes) {
        const [first, ...rest] = n.path.split(' ');
        const cond =
          rest.length === 0
            ? `__fish_seen_subcommand_from ${first}`
            : `__fish_seen_subcommand_from ${first}; and __fish_seen_subcommand_from ${rest.join(' ')}`;
        for (const child of n.children) lines.push(`complete -c mooring -n '${cond}' -a ${child}`);
        for (const o of n.options.filter((x) => x.startsWith('--')))
          lines.push(`complete -c mooring -n '${cond}' -l ${o.slice(2)}`);
      }
      return `${lines.join('\n')}\n`;
    }
    default:
      throw new MooringError('usage', `No completion for "${shell}": choose one of ${SHELLS.join(', ')}.`);
  }
}

function quoteFish(text: string): string {
  return `'${text.split('\n')[0]!.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function registerCompletion(program: Command, io: Io): void {
  program
    .command('completion <shell>')
    .description(
      'print a completion script: bash (source <(mooring completion bash)), zsh, or fish (mooring completion fish | source)',
    )
    .action((shell: string) => {
      io.out(completionScript(program, shell));
    });
}

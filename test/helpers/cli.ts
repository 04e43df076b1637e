// Runs the `mooring` CLI in this process (the same main() that bin/mooring.mjs calls), capturing
// what it prints and its exit code.
import { main } from '../../electron/cli/main.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function mooring(
  home: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(
    ['node', 'mooring', '--home', home, ...args],
    {
      out: (t) => (stdout += t.endsWith('\n') ? t : `${t}\n`),
      err: (t) => (stderr += t.endsWith('\n') ? t : `${t}\n`),
      color: false,
    },
    env,
  );
  return { code, stdout, stderr };
}

export async function mooringJson<T>(
  home: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<T & { code: number; stderr: string }> {
  const r = await mooring(home, [...args, '--json'], env);
  try {
    return { ...(JSON.parse(r.stdout) as T), code: r.code, stderr: r.stderr };
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

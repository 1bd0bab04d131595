import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How the fake nvidia-smi behaves. */
export type FakeSmi =
  { utilization: number; delaySeconds?: number } | 'missing' | 'failing' | { hangSeconds: number };

/**
 * A directory to put first on the sampler's PATH: a fake `lspci` listing an NVIDIA 3D controller
 * at 00:1e.0 and a fake `nvidia-smi` printing systeminformation's 16-field CSV line for the
 * same bus address. A hanging nvidia-smi writes its pid to `pidFile` once it is running, so a
 * test can tell that the probe is in flight and check afterwards that the process is gone.
 */
export function fakeGpu(smi: FakeSmi): { env: NodeJS.ProcessEnv; pidFile: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'fake-gpu-'));
  const pidFile = join(dir, 'nvidia-smi.pid');
  const script = (name: string, body: string): void => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  script(
    'lspci',
    [
      "cat <<'OUT'",
      '00:1e.0 3D controller: NVIDIA Corporation GA102GL [A10G] (rev a1)',
      '\tSubsystem: NVIDIA Corporation Device 151d',
      '\tKernel driver in use: nvidia',
      '',
      'OUT',
    ].join('\n'),
  );
  if (smi === 'failing') script('nvidia-smi', 'echo "NVIDIA-SMI has failed" >&2; exit 1');
  else if (typeof smi === 'object' && 'hangSeconds' in smi) {
    // Written then renamed, so a reader never sees an empty file; exec keeps the same pid.
    script(
      'nvidia-smi',
      `echo $$ > '${pidFile}.tmp' && mv '${pidFile}.tmp' '${pidFile}'\nexec sleep ${smi.hangSeconds}`,
    );
  } else if (typeof smi === 'object') {
    script(
      'nvidia-smi',
      [
        smi.delaySeconds === undefined ? '' : `sleep ${smi.delaySeconds}`,
        `echo "535.104.05, 0x151D10DE, NVIDIA A10G, 00000000:00:1E.0, 0, 23028, 11514, 11514, ${smi.utilization}, 40, 60, N/A, 150.00, 300.00, 1710, 6250"`,
      ].join('\n'),
    );
  }
  // 'missing': no nvidia-smi in the directory. PATH keeps the system's sh, sleep, cat.
  return {
    env: { ...process.env, PATH: `${dir}:/usr/bin:/bin` },
    pidFile,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function chooseMode(opts: { root: string; env?: Record<string, string | undefined> }): {
  mode: 'electron' | 'web';
  reason: string;
  electronPath: string | null;
};
export function missingBuilds(root: string, mode: 'electron' | 'web'): string[];

import { readFileSync } from 'node:fs';

/** Self time by function and by package from a V8 .cpuprofile (node --cpu-prof). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly label: string;
  /** Which part of the process's life was summarised. */
  readonly window: string;
  readonly totalMs: number;
  /** Time not idle (total minus "(idle)"). */
  readonly busyMs: number;
  readonly topFunctions: { name: string; where: string; selfMs: number; percentOfBusy: number }[];
  readonly byPackage: { name: string; selfMs: number; percentOfBusy: number }[];
}

function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  if (url.startsWith('node:')) return url.split('/')[0] ?? url;
  const repo = /\/(platform|services\/[^/]+|bench)\//.exec(url);
  return repo?.[1] ? `orderly ${repo[1]}` : url.replace(/^file:\/\//, '');
}

/**
 * `window`: only samples taken between fromMs and toMs (epoch), given when the process exited
 * (the profile's end), so start-up (module loading) does not drown the steady state.
 */
export function summarizeProfile(
  file: string,
  label: string,
  window?: { fromMs: number; toMs: number; exitedAtMs: number },
  top = 15,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (window) {
      const epochMs = window.exitedAtMs - (profile.endTime - t) / 1000;
      if (epochMs < window.fromMs || epochMs > window.toMs) return;
    }
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const packages = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = functionName || '(anonymous)';
    const where = url
      ? `${url.replace(/^file:\/\/.*?\/(node_modules|platform|services|bench)\//, '$1/')}:${lineNumber + 1}`
      : '';
    const key = `${name}@${where}`;
    const f = functions.get(key) ?? { name, where, us: 0 };
    f.us += us;
    functions.set(key, f);
    const pkg = packageOf(url, functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const pct = (us: number) => Math.round((us / busyUs) * 1000) / 10;
  return {
    file,
    label,
    window: window
      ? `${new Date(window.fromMs).toISOString().slice(11, 19)}–${new Date(window.toMs).toISOString().slice(11, 19)} UTC`
      : 'whole process',
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    topFunctions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({
        name: f.name,
        where: f.where,
        selfMs: Math.round(f.us / 1000),
        percentOfBusy: pct(f.us),
      })),
    byPackage: [...packages]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), percentOfBusy: pct(us) })),
  };
}

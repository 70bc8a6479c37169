import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure } from './api.ts';

/**
 * Reads `load` now and again every `intervalMs` (the interval the answer asks for, when it gives one),
 * keeping the last good answer; an error is shown beside it until the next good one.
 */
export function usePolling<T>(
  load: () => Promise<T>,
  intervalOf: (value: T | undefined) => number,
): { value: T | undefined; error: string | undefined; reload: () => void } {
  const [value, setValue] = useState<T | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [tick, setTick] = useState(0);
  const latest = useRef(value);
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const run = async () => {
      try {
        const next = await load();
        if (stopped) return;
        latest.current = next;
        setValue(next);
        setError(undefined);
      } catch (failure) {
        if (stopped) return;
        setError(
          failure instanceof ApiFailure ? `${failure.code}: ${failure.message}` : String(failure),
        );
      }
      if (!stopped) timer = window.setTimeout(() => void run(), intervalOf(latest.current));
    };
    void run();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [tick]);
  return { value, error, reload: () => setTick((t) => t + 1) };
}

/**
 * How often panels read again: what the gateway's last system overview said
 * (services.gateway.console.refreshIntervalMs), until then a first guess.
 */
export const refresh = { intervalMs: 2000 };

/**
 * The iterations of the fixtures' `burn` loop that take about `ms` on this machine, measured here.
 * The fastest of several measurements counts: another process stealing the CPU can only make a
 * measurement slower, and a slow one would make every "20 µs" task shorter than it claims.
 */
export function iterationsForMs(ms: number): number {
  const burn = (iterations: number): number => {
    let x = 0;
    for (let i = 0; i < iterations; i++) x += Math.sqrt(x + i);
    return x;
  };
  burn(1e6); // warm up the JIT
  let iterations = 100_000;
  while (time(() => burn(iterations)) < 20) iterations *= 2;
  const fastest = Math.min(...Array.from({ length: 7 }, () => time(() => burn(iterations))));
  return Math.round((iterations / fastest) * ms);
}

function time(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/** The iterations of the fixtures' `burn` loop that take about `ms` on this machine, measured here. */
export function iterationsForMs(ms: number): number {
  const burn = (iterations: number): number => {
    let x = 0;
    for (let i = 0; i < iterations; i++) x += Math.sqrt(x + i);
    return x;
  };
  burn(1e6); // warm up the JIT
  let iterations = 100_000;
  for (;;) {
    const start = performance.now();
    burn(iterations);
    const elapsed = performance.now() - start;
    if (elapsed > 50) return Math.round((iterations / elapsed) * ms);
    iterations *= 2;
  }
}

/**
 * The level of `priority` in `levels` (kept sorted, highest priority first), made with `make`
 * and inserted in order if there is none. Few distinct priorities are in use at once, so a
 * linear scan beats any tree here.
 * @internal
 */
export function levelOf<L extends { readonly priority: number }>(
  levels: L[],
  priority: number,
  make: (priority: number) => L,
): L {
  let index = 0;
  while (index < levels.length) {
    const level = levels[index] as L;
    if (level.priority === priority) return level;
    if (level.priority < priority) break;
    index++;
  }
  const level = make(priority);
  levels.splice(index, 0, level);
  return level;
}

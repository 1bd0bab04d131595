/** The library's seeded PRNG, so randomized tests replay exactly. */
export { seededRandom } from '../../src/internal/random.js';

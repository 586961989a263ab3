/**
 * The ioredis of the stack under test (ioredis 6 on `node24`), for processes that vitest's
 * `ioredis` alias does not reach: the instances forked with tsx. Typed as the root's ioredis;
 * the constructors the tests call are the same in both majors.
 */
import * as v5 from 'ioredis';
import * as v6 from 'ioredis6';

const chosen: Pick<typeof v5, 'Redis' | 'Cluster'> = process.env.GAPLESS_STACK === 'node24' ? (v6 as unknown as typeof v5) : v5;

export const { Redis, Cluster } = chosen;

import { createReplay } from '../../src/memory/index.js';
import { describeReplayContract } from '../contract/replay-contract.js';

describeReplayContract('memory', { create: async (options) => createReplay(options) });

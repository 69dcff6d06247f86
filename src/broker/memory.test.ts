import { brokerContract } from './broker-contract.ts';
import { MemoryBroker } from './memory.ts';

brokerContract('MemoryBroker', async (options) => new MemoryBroker(options));

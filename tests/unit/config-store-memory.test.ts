// The memory ConfigStore against the shared contract suite.
import { MemoryConfigStore } from '../../src/store/memory/config.ts'
import { configStoreContract } from '../support/config-store-contract.ts'

configStoreContract('memory', () => new MemoryConfigStore())

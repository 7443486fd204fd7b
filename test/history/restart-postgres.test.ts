// Issue 17's "done when" on PostgreSQL (skipped, saying why, when it cannot be reached): see restart-suite.ts.
import { restartSuite } from './restart-suite.ts';

await restartSuite('postgres');

// Issue 17's "done when" on the embedded store (SQLite): see restart-suite.ts.
import { restartSuite } from './restart-suite.ts';

await restartSuite('sqlite');

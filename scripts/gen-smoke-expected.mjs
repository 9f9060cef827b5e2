// Regenerate test/smoke/expected.json from the built package (dist/). test/smoke.test.ts then checks
// every value against independent implementations; only regenerate when the cases change.
import { writeFile } from 'node:fs/promises';
import * as lib from '../dist/index.node.js';
import { runSmoke, runSmokeAsync } from '../test/smoke/cases.js';

await writeFile(new URL('../test/smoke/expected.json', import.meta.url), JSON.stringify({ ...runSmoke(lib), ...(await runSmokeAsync(lib)) }, null, 1) + '\n');

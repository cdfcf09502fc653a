// Copies what the build needs from @temporalio/ui into static/: the favicon, and the package's MIT licence so the
// built UI carries its notice wherever it is served from.
import { copyFileSync, mkdirSync } from 'node:fs';

const ui = 'node_modules/@temporalio/ui';
mkdirSync('static', { recursive: true });
copyFileSync(`${ui}/dist/vendor/favicon.ico`, 'static/favicon.ico');
copyFileSync(`${ui}/LICENSE`, 'static/LICENSE-temporalio-ui.txt');

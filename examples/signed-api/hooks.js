// Hook script for the signed-API site: runs before the page's scripts. The signer is a method of a
// client instance created inside the page's own code; hooking the method captures that instance
// (its `this`, which holds the secret) the first time the page signs a request.
const signer = pagecall.hook('SDK.Client.prototype.sign');

pagecall.register('sign', async (path) => {
  await signer.ready;
  return signer.call([path]);
});

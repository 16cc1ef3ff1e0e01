// Loaded with `node --import` into a bin/gatehouse under test: on SIGUSR2 it makes the fatal error
// that FATAL_KIND names happen in the appliance's process (`throw`: an uncaught exception;
// `reject`: an unhandled promise rejection), so the test can see how the appliance reports it.
process.on('SIGUSR2', () => {
  if (process.env.FATAL_KIND === 'reject') void Promise.reject(new Error('fixture: rejected on purpose'));
  else throw new RangeError('fixture: thrown on purpose');
});

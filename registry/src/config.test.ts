import { describe, expect, it } from 'vitest';
import { ConfigError, parseRegistryConfig, usage } from './config.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    parseRegistryConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

describe('parseRegistryConfig', () => {
  it('has upstream defaults', () => {
    expect(parseRegistryConfig({})).toEqual({
      name: 'registry',
      listenOn: ['tcp://0.0.0.0:5002'],
      logLevel: 'info',
      expirePeriodMs: 60_000,
    });
  });

  it('treats empty variables as unset', () => {
    expect(
      parseRegistryConfig({ NSM_NAME: '', NSM_LISTEN_ON: ' ', NSM_EXPIRE_PERIOD: '', NSM_LOG_LEVEL: '' }),
    ).toEqual(parseRegistryConfig({}));
  });

  it('reads every setting', () => {
    expect(
      parseRegistryConfig({
        NSM_NAME: 'reg-1',
        NSM_LISTEN_ON: 'tcp://127.0.0.1:5002, unix:///run/nsm/registry.sock,',
        NSM_EXPIRE_PERIOD: '1m30s',
        NSM_LOG_LEVEL: 'DEBUG',
      }),
    ).toEqual({
      name: 'reg-1',
      listenOn: ['tcp://127.0.0.1:5002', 'unix:///run/nsm/registry.sock'],
      logLevel: 'debug',
      expirePeriodMs: 90_000,
    });
  });

  it('maps upstream log level spellings', () => {
    expect(parseRegistryConfig({ NSM_LOG_LEVEL: 'Warning' }).logLevel).toBe('warn');
    expect(parseRegistryConfig({ NSM_LOG_LEVEL: 'panic' }).logLevel).toBe('fatal');
  });

  it('rejects a bad URL, naming it', () => {
    expect(problemsOf({ NSM_LISTEN_ON: 'tcp://0.0.0.0:5002,http://x:1' })).toEqual([
      expect.stringMatching(/NSM_LISTEN_ON: bad URL "http:\/\/x:1": expected unix:/),
    ]);
    expect(problemsOf({ NSM_LISTEN_ON: 'unix://relative.sock' })[0]).toMatch(/absolute/);
    expect(problemsOf({ NSM_LISTEN_ON: ',,' })[0]).toMatch(/names no URL/);
  });

  it('rejects bad durations with the accepted forms', () => {
    expect(problemsOf({ NSM_EXPIRE_PERIOD: '10' })[0]).toMatch(
      /NSM_EXPIRE_PERIOD: bad duration "10": "10" has no unit; expected .* e\.g\. 250ms/,
    );
    expect(problemsOf({ NSM_EXPIRE_PERIOD: 'soon' })[0]).toMatch(/bad duration "soon"/);
    expect(problemsOf({ NSM_EXPIRE_PERIOD: '0s' })[0]).toMatch(/must be longer than zero/);
    expect(problemsOf({ NSM_EXPIRE_PERIOD: '-1m' })[0]).toMatch(/negative/);
  });

  it('rejects an unknown log level', () => {
    expect(problemsOf({ NSM_LOG_LEVEL: 'loud' })[0]).toMatch(/NSM_LOG_LEVEL="loud" is not a log level/);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({ NSM_LISTEN_ON: 'nope', NSM_EXPIRE_PERIOD: 'x', NSM_LOG_LEVEL: 'y' });
    expect(problems).toHaveLength(3);
    const err = new ConfigError(problems);
    expect(err.message).toMatch(/^bad configuration:\n {2}- NSM_LISTEN_ON/);
  });

  it('documents every variable in the usage text', () => {
    for (const key of ['NSM_NAME', 'NSM_LISTEN_ON', 'NSM_EXPIRE_PERIOD', 'NSM_LOG_LEVEL'])
      expect(usage).toContain(key);
    expect(usage).toContain('default 1m');
  });
});

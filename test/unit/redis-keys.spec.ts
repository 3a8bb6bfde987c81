import { describe, expect, it } from '@jest/globals';
import { gapRecordsKey, monitorKeyBase, serviceKeyBase, silencesKey } from '../../src/cluster/monitor-keys.util.js';

/*
 * The names of the keys the module keeps in Redis, to the letter: a fleet
 * upgraded in place must find the outages, gap records, silences and ledger its Redis
 * already holds. Names with ':' and braces are encoded, so that they neither
 * run into another service's keys nor break a hash tag.
 */
describe('Redis key names', () => {
  it('of a monitor share its hash tag', () => {
    expect(monitorKeyBase('audit-alert', 'billing-api', 'orders')).toBe('audit-alert:{billing-api:orders}');
    expect(monitorKeyBase('p', 'a:b', 'c}{d')).toBe('p:{a%3Ab:c%7D%7Bd}');
  });

  it('of a service share its hash tag', () => {
    expect(serviceKeyBase('audit-alert', 'billing-api')).toBe('audit-alert:{billing-api}');
    expect(serviceKeyBase('p', 'a:{b}')).toBe('p:{a%3A%7Bb%7D}');
  });

  it('of the gap records keep the name they have carried, without a hash tag', () => {
    expect(gapRecordsKey('audit-alert', 'ledger-api', 'default')).toBe('audit-alert:ledger-api:gap-records:default');
    expect(gapRecordsKey('p', 'a:b', 'c}d')).toBe('p:a%3Ab:gap-records:c%7Dd');
  });

  it('of the silences keep the name they have carried, without a hash tag', () => {
    expect(silencesKey('audit-alert', 'billing-api')).toBe('audit-alert:billing-api:silences');
    expect(silencesKey('p', 'a:{b}')).toBe('p:a%3A%7Bb%7D:silences');
  });
});

/** Regressions for what the property suites (test/property/) found, pinned as plain examples. */
import { describe, expect, it } from '@jest/globals';
import { strToU8, zipSync } from 'fflate';
import { classifyAuthorizeError } from '../../src/integrations/authorize-errors.js';
import { openProvisioningZip } from '../../src/sync/course-refresh.js';

describe('found by the property suites', () => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])('an authorize error named %s is an unknown error, not an Object.prototype member', (error) => {
    const c = classifyAuthorizeError(error, '');
    expect(c.reason).toBe('access_denied');
    expect(c.detail).toMatch(new RegExp(`error=${error}`));
  });

  it('a report row without its Canvas id fails the read with a JobFailure instead of yielding a course or section without id', async () => {
    const courses = 'canvas_course_id,long_name,status\n1,Biology,active\n';
    const sections = 'canvas_section_id,canvas_course_id,name,status\n10,1,S1,active\nunpublished\n';
    const report = openProvisioningZip(zipSync({ 'courses.csv': strToU8(courses), 'sections.csv': strToU8(sections) }));
    const seen: string[] = [];
    for await (const c of report.courses()) seen.push(c.canvasId);
    expect(seen).toEqual(['1']);
    const read = async () => {
      for await (const s of report.sections()) seen.push(s.canvasId);
    };
    await expect(read()).rejects.toMatchObject({ name: 'JobFailure', code: 'report_unreadable', message: expect.stringMatching(/sections\.csv has a row without canvas_course_id \(data row 2\)/) });

    const noId = openProvisioningZip(zipSync({ 'courses.csv': strToU8('canvas_course_id,long_name\n,Nameless\n') }));
    const readCourses = async () => {
      for await (const c of noId.courses()) seen.push(c.canvasId);
    };
    await expect(readCourses()).rejects.toMatchObject({ name: 'JobFailure', message: expect.stringMatching(/courses\.csv has a row without canvas_course_id/) });
  });
});

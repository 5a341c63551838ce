/**
 * Why a course, section or person is not synced, each with the remedy an
 * admin can act on. Shown on the pages, returned by the `why` API and by the CLI.
 */

export const COURSE_REASONS = ['unpublished', 'missing_course_id', 'sis_ids_hidden', 'deleted', 'not_in_account'] as const;
export type CourseReason = (typeof COURSE_REASONS)[number];

export const SECTION_REASONS = ['missing_section_id', 'sis_ids_hidden'] as const;
export type SectionReason = (typeof SECTION_REASONS)[number];

export const ROSTER_REASONS = ['role_not_selected', 'pending', 'inactive', 'concluded', 'missing_user_id', 'user_id_hidden'] as const;
export type RosterReason = (typeof ROSTER_REASONS)[number];

export interface ReasonHelp {
  title: string;
  remedy: string;
}

export const COURSE_REASON_HELP: Record<CourseReason, ReasonHelp> = {
  unpublished: {
    title: 'The course is unpublished in Canvas',
    remedy: 'Publish the course in Canvas (course home page > Publish), then refresh the course here.',
  },
  missing_course_id: {
    title: 'The course has no ID of the chosen type',
    remedy:
      'Fill in the course\'s SIS ID or Reference (integration) ID in Canvas (Course Settings, or your SIS import), or choose another course ID type on the Configure page, then refresh.',
  },
  sis_ids_hidden: {
    title: 'SIS ids are hidden from the token owner',
    remedy:
      'Give the token owner\'s role the "SIS Data - read" permission in Admin > Permissions (or choose Canvas ids on the Configure page), then refresh.',
  },
  deleted: {
    title: 'The course was deleted in Canvas',
    remedy: 'Restore the course in Canvas (Admin > Restore Courses) if it should be synced, then refresh.',
  },
  not_in_account: {
    title: 'The course is not in the account this integration syncs',
    remedy:
      'Move the course into the configured account (or one of its sub-accounts) in Canvas, or change the account on the integration, then refresh.',
  },
};

export const SECTION_REASON_HELP: Record<SectionReason, ReasonHelp> = {
  missing_section_id: {
    title: 'The section has no ID of the chosen type',
    remedy: "Fill in the section's SIS ID or Reference ID in Canvas (or via your SIS import), or choose another ID type, then refresh.",
  },
  sis_ids_hidden: COURSE_REASON_HELP.sis_ids_hidden,
};

export const ROSTER_REASON_HELP: Record<RosterReason, ReasonHelp> = {
  role_not_selected: {
    title: "The person's course role is not one of the student roles chosen for this integration",
    remedy: 'If this role should take exams, add it to Student roles on the Configure page, then sync the course again.',
  },
  pending: {
    title: 'The enrollment is pending (invited, not yet accepted, or not yet created)',
    remedy: 'The student must accept the course invitation in Canvas (or an admin can accept it for them), then sync again.',
  },
  inactive: {
    title: 'The enrollment is deactivated (inactive) in Canvas',
    remedy: "Re-activate the enrollment in Canvas (People > the student's menu > Re-activate), then sync again.",
  },
  concluded: {
    title: 'The enrollment is concluded (completed) in Canvas',
    remedy: 'Restore the enrollment in Canvas if the student should still take exams, then sync again.',
  },
  missing_user_id: {
    title: 'The person has no ID of the chosen type',
    remedy: "Fill in the user's SIS ID, Reference ID, login or email in Canvas (or your SIS import), or choose another user ID type on the Configure page.",
  },
  user_id_hidden: {
    title: 'The chosen user ID is hidden from the token owner',
    remedy:
      'Give the token owner\'s role the permission that reveals it ("SIS Data - read" for SIS/Reference ids, "Users - view login IDs" for logins, "Users - view primary email address" for email). For email, also tick "Allow Include Parameters" on the developer key.',
  },
};

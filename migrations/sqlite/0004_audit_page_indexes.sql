DROP INDEX `audit_log_username`;--> statement-breakpoint
DROP INDEX `audit_log_event`;--> statement-breakpoint
CREATE INDEX `audit_log_username_id` ON `audit_log` (`username`,`id`);--> statement-breakpoint
CREATE INDEX `audit_log_event_id` ON `audit_log` (`event`,`id`);--> statement-breakpoint
CREATE INDEX `audit_log_outcome_id` ON `audit_log` (`outcome`,`id`);
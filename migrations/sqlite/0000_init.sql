CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY NOT NULL,
	`time` integer NOT NULL,
	`event` text NOT NULL,
	`outcome` text NOT NULL,
	`username` text,
	`reason` text,
	`source` text,
	`client` text,
	`actor` text,
	`details` text,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_log_time` ON `audit_log` (`time`);--> statement-breakpoint
CREATE INDEX `audit_log_username` ON `audit_log` (`username`,`time`);--> statement-breakpoint
CREATE INDEX `audit_log_event` ON `audit_log` (`event`,`time`);--> statement-breakpoint
CREATE TABLE `downstream_servers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`host` text NOT NULL,
	`port` integer DEFAULT 1812 NOT NULL,
	`secret_sealed` blob NOT NULL,
	`require_message_authenticator` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `radius_clients` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`address` text NOT NULL,
	`secret_sealed` blob NOT NULL,
	`require_message_authenticator` text DEFAULT 'auto' NOT NULL,
	`message_authenticator_seen` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `radius_clients_address_unique` ON `radius_clients` (`address`);--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);

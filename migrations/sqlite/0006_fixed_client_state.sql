CREATE TABLE `fixed_client_state` (
	`address` text PRIMARY KEY NOT NULL,
	`message_authenticator_seen` integer DEFAULT false NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);

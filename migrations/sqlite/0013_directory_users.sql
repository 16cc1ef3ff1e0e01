ALTER TABLE `users` ADD `source` text DEFAULT 'local' NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `directory_dn` text;--> statement-breakpoint
ALTER TABLE `users` ADD `upn` text;--> statement-breakpoint
ALTER TABLE `users` ADD `directory_state` text;--> statement-breakpoint
ALTER TABLE `users` ADD `directory_gone_at` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `synced_at` integer;
;;; stackguard-eglot.el --- stackguard with Eglot  -*- lexical-binding: t; -*-

;; Eglot (built into Emacs >= 29) runs one server per buffer, so this makes
;; stackguard the server of Python buffers. To keep pyright/pylsp as well,
;; run both behind a multiplexer (see editors/emacs/README.md).

(require 'eglot)
(require 'project)

(add-to-list 'eglot-server-programs
             '((python-mode python-ts-mode)
               . ("stackguard" "serve" "--stdio"
                  ;; Sent as initializationOptions. Emacs has no workspace
                  ;; trust: add :trusted t next to :logLevel to let
                  ;; verify.onSave run the project's own commands.
                  :initializationOptions (:settings (:logLevel "info")))))

;; Settings (section "stackguard"), answered to workspace/configuration.
;; Per project, put the same plist in .dir-locals.el:
;;   ((nil . ((eglot-workspace-configuration
;;             . (:stackguard (:ignore ["SG501"]))))))
(setq-default eglot-workspace-configuration
              '(:stackguard (:severity (:SG201 "error"))))

(add-hook 'python-mode-hook #'eglot-ensure)
(add-hook 'python-ts-mode-hook #'eglot-ensure)

(defun stackguard--execute (command argument)
  "Send workspace/executeCommand COMMAND with its one ARGUMENT object."
  (jsonrpc-request (eglot--current-server-or-lose)
                   :workspace/executeCommand
                   (list :command command :arguments (vector argument))))

(defun stackguard--folder-uri ()
  (let ((root (expand-file-name (project-root (project-current t)))))
    (concat "file://" (directory-file-name root))))

(defun stackguard-verify (steps)
  "Run the project's verification STEPS (all when empty) with stackguard."
  (interactive (list (split-string (read-string "Steps (empty: all): "))))
  (stackguard--execute "stackguard.verify"
                       (append (list :folder (stackguard--folder-uri))
                               (when steps (list :steps (vconcat steps))))))

(defun stackguard-show-stack ()
  "Show the stack stackguard detected for this project."
  (interactive)
  (stackguard--execute "stackguard.showStack" (list :folder (stackguard--folder-uri))))

(defun stackguard-generate-migration (message)
  "Generate a migration for the model changes, described by MESSAGE."
  (interactive (list (read-string "Migration message: ")))
  (stackguard--execute "stackguard.generateMigration"
                       (append (list :folder (stackguard--folder-uri))
                               (unless (string-empty-p message) (list :message message)))))

(provide 'stackguard-eglot)
;;; stackguard-eglot.el ends here

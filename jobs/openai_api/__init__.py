"""An OpenAI-compatible API under /openai/v1/: files, fine-tuning jobs, models, completions.

The objects are the platform's own (a file is a Dataset, a fine-tuning job is a Job), shaped the
way the official `openai` client reads them; errors are {"error": {message, type, param,
code}}. Views are plain Django views around one decorator (auth.endpoint) that authenticates
the bearer token, checks write permission and shapes every error.
"""

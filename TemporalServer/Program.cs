// Placeholder entry point; the embedded server is built under issue 3.
return 0;

using Stateset.Stack;

// Everything a newcomer needs, on embedded defaults: see README.md ("Run the stack").
return await LocalStack.RunAsync(StackSettings.FromEnvironment());

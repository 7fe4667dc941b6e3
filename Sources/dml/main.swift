import DMLCommands

DMLCommand.main()
